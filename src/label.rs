//! Closed vocabularies: every enum whose values appear in an output column as a snake_case label is
//! declared with [`labels!`], which gives it its label ([`Label::as_label`]), its parser
//! ([`Label::from_label`]) and the list of its values ([`Label::ALL`]) from one table. The schema's
//! descriptions list the labels from [`list`], and the report parses labels instead of matching string
//! literals, so a renamed label cannot silently count nothing.

/// A closed vocabulary of snake_case labels.
pub trait Label: Copy + Sized + 'static {
    /// Every value, in declaration order.
    const ALL: &'static [Self];
    /// The snake_case label used in output columns.
    fn as_label(self) -> &'static str;
    /// The value with this label.
    fn from_label(label: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.as_label() == label)
    }
}

/// The labels of a vocabulary joined with `, ` (for column descriptions).
pub fn list<T: Label>() -> String {
    T::ALL.iter().map(|v| v.as_label()).collect::<Vec<_>>().join(", ")
}

/// Declares a fieldless enum and its labels: `labels! { pub enum Mode { Enforce => "enforce", ... } }`.
/// Variant docs and enum attributes are kept; `Clone, Copy, Debug, PartialEq, Eq, Hash` are derived.
#[macro_export]
macro_rules! labels {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $label:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $crate::label::Label for $name {
            const ALL: &'static [Self] = <$name>::ALL;
            fn as_label(self) -> &'static str {
                match self {
                    $(Self::$variant => $label),+
                }
            }
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The snake_case label used in output columns.
            pub fn as_label(self) -> &'static str {
                $crate::label::Label::as_label(self)
            }

            /// The value with this label.
            pub fn from_label(label: &str) -> Option<Self> {
                $crate::label::Label::from_label(label)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_label())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_label())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let label = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                Self::from_label(&label)
                    .ok_or_else(|| serde::de::Error::custom(format!("unknown {} label {label:?}", stringify!($name))))
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    labels! {
        /// A test vocabulary.
        enum Colour {
            /// Red.
            Red => "red",
            DarkBlue => "dark_blue",
        }
    }

    #[test]
    fn labels_round_trip_and_list() {
        for c in Colour::ALL {
            assert_eq!(Colour::from_label(c.as_label()), Some(*c));
        }
        assert_eq!(Colour::from_label("blue"), None);
        assert_eq!(list::<Colour>(), "red, dark_blue");
        assert_eq!(Colour::DarkBlue.to_string(), "dark_blue");
    }
}
