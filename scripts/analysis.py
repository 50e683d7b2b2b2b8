#!/usr/bin/env python3
"""Start here in a notebook: load a mailcensus scan with polars, pandas and DuckDB, reproduce the
report's group table, and plot it.

Usage: analysis.py SCAN_DIR [PLOT.png]

Reproduces, per group, the share of domains with STARTTLS on every MX (of the domains whose
STARTTLS is known) and the share with a valid SPF record (of those whose SPF lookup worked), three
ways, checks that they agree with each other and with SCAN_DIR/report/groups.csv (unweighted scans),
and draws a bar chart. Exit 1 on any disagreement."""
import sys
from pathlib import Path

import duckdb
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import polars as pl  # noqa: E402

KNOWN = ["all", "some", "none"]


def by_polars(folder: Path) -> pl.DataFrame:
    d = pl.read_parquet(str(folder / "domains" / "*.parquet")).with_columns(pl.col("group").fill_null("(none)"))
    known = d.filter(pl.col("starttls").cast(pl.Utf8).is_in(KNOWN))
    spf = d.filter(~pl.col("spf_status").cast(pl.Utf8).is_in(["temperror", "not_queried"]))
    a = known.group_by("group").agg((pl.col("starttls").cast(pl.Utf8) == "all").mean().alias("starttls_all"))
    b = spf.group_by("group").agg((pl.col("spf_status").cast(pl.Utf8) == "valid").mean().alias("spf_valid"))
    return a.join(b, on="group", how="full", coalesce=True).sort("group")


def by_pandas(folder: Path) -> pd.DataFrame:
    d = pd.read_parquet(folder / "domains")
    d["group"] = d["group"].fillna("(none)")
    known = d[d["starttls"].astype(str).isin(KNOWN)]
    spf = d[~d["spf_status"].astype(str).isin(["temperror", "not_queried"])]
    return pd.DataFrame(
        {
            "starttls_all": known.groupby("group")["starttls"].apply(lambda s: (s.astype(str) == "all").mean()),
            "spf_valid": spf.groupby("group")["spf_status"].apply(lambda s: (s.astype(str) == "valid").mean()),
        }
    ).sort_index()


def by_duckdb(folder: Path) -> pd.DataFrame:
    q = f"""
        select coalesce("group", '(none)') as "group",
               avg(case when starttls = 'all' then 1.0 else 0.0 end) filter (where starttls in ('all', 'some', 'none')) as starttls_all,
               avg(case when spf_status = 'valid' then 1.0 else 0.0 end) filter (where spf_status not in ('temperror', 'not_queried')) as spf_valid
        from read_parquet('{folder}/domains/*.parquet') group by all order by 1
    """
    return duckdb.sql(q).df().set_index("group")


def main(folder: Path, plot: Path) -> int:
    pol = by_polars(folder).to_pandas().set_index("group")
    pan = by_pandas(folder)
    duck = by_duckdb(folder)
    report = pd.read_csv(folder / "report" / "groups.csv").set_index("group")
    problems = []
    for col in ["starttls_all", "spf_valid"]:
        for name, other in [("pandas", pan), ("duckdb", duck), ("report/groups.csv", report[f"{col}_share"].rename(col).to_frame())]:
            diff = (pol[col] - other[col].reindex(pol.index)).abs().max()
            if not diff < 1e-6:
                problems.append(f"{col}: polars and {name} differ by {diff}")
    print(pol.to_string(float_format=lambda x: f"{x:.3f}"))
    ax = pol.plot.barh(figsize=(8, 0.35 * len(pol) + 1.5), xlim=(0, 1), title="Share of domains per group")
    ax.figure.tight_layout()
    ax.figure.savefig(plot, dpi=80)
    print(f"plot: {plot}")
    for p in problems:
        print("PROBLEM:", p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    folder = Path(sys.argv[1])
    sys.exit(main(folder, Path(sys.argv[2]) if len(sys.argv) == 3 else folder / "report" / "groups.png"))
