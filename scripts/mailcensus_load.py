"""Load mailcensus datasets into pandas with the same categories in every scan.

Each label column of a mailcensus dataset carries its closed vocabulary in the Parquet field
metadata (`mailcensus.values`, a JSON array in a fixed order). Parquet keeps only the values a file
uses, so two scans read on their own get different categories, and `pd.concat` turns them into plain
strings; with the vocabulary fixed, they stay categoricals and concatenate as such.

    from mailcensus_load import read_dataset, read_scans
    one = read_dataset("scan-2026-12/domains")
    many = read_scans("scans", "domains")        # every scan under scans/ (e.g. scans/scan_date=.../)
"""
import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

VALUES_KEY = b"mailcensus.values"


def vocabularies(folder):
    """{column: [values]} of the label columns of one dataset folder (from its first part file)."""
    parts = sorted(Path(folder).glob("*.parquet"))
    if not parts:
        return {}
    out = {}
    for field in pq.read_schema(parts[0]):
        values = (field.metadata or {}).get(VALUES_KEY)
        if values:
            out[field.name] = json.loads(values)
    return out


def read_dataset(folder):
    """One dataset folder (DIR/domains, DIR/mx_hosts, DIR/client_endpoints) with fixed categories."""
    df = pd.read_parquet(folder)
    for column, values in vocabularies(folder).items():
        if column in df.columns:
            df[column] = pd.Categorical(df[column].astype("object"), categories=values)
    return df


def read_scans(root, dataset="domains"):
    """Every scan's `dataset` under root (a scan directory, or a folder of them), concatenated."""
    folders = sorted({p.parent for p in Path(root).glob(f"**/{dataset}/*.parquet") if ".set-aside" not in p.parts})
    frames = [read_dataset(f) for f in folders]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
