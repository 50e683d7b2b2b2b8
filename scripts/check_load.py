#!/usr/bin/env python3
"""Load a mailcensus scan directory with the tools analysts use (pandas, polars, DuckDB) and check
that they all see the same rows and columns. Usage: check_load.py SCAN_DIR

Exit 0 when every tool loads the three datasets and agrees; 1 otherwise; 3 when a package is missing."""
import sys
from pathlib import Path

try:
    import duckdb
    import pandas as pd
    import polars as pl
except ImportError as e:  # reported distinctly so the caller can tell "not installed" from "broken"
    print(f"missing package: {e}", file=sys.stderr)
    sys.exit(3)


def main(scan_dir: Path) -> int:
    problems = []
    for dataset in ("domains", "mx_hosts", "client_endpoints"):
        folder = scan_dir / dataset
        pandas_df = pd.read_parquet(folder)
        polars_df = pl.read_parquet(str(folder / "*.parquet"))
        con = duckdb.connect()
        duck_rows = con.execute(f"select count(*) from read_parquet('{folder}/*.parquet')").fetchone()[0]
        duck_cols = [r[0] for r in con.execute(f"describe select * from read_parquet('{folder}/*.parquet')").fetchall()]
        counts = {"pandas": len(pandas_df), "polars": polars_df.height, "duckdb": duck_rows}
        if len(set(counts.values())) != 1:
            problems.append(f"{dataset}: row counts differ {counts}")
        if list(pandas_df.columns) != polars_df.columns or polars_df.columns != duck_cols:
            problems.append(f"{dataset}: column lists differ")
        print(f"{dataset}: {counts['pandas']} rows, {len(duck_cols)} columns, same in pandas, polars and DuckDB")
        if dataset == "domains":
            # The enum columns arrive as categoricals, the summaries are queryable in SQL.
            if str(pandas_df["starttls"].dtype) != "category":
                problems.append(f"domains.starttls is {pandas_df['starttls'].dtype} in pandas, expected category")
            by = con.execute(
                f"select starttls, count(*) from read_parquet('{folder}/*.parquet') group by 1 order by 1"
            ).fetchall()
            print("  starttls:", ", ".join(f"{k}={v}" for k, v in by))
            mx = pandas_df["mx"].iloc[0]
            if len(mx) and set(mx[0].keys()) != {"preference", "host"}:
                problems.append("domains.mx items are not {preference, host}")
    for p in problems:
        print("PROBLEM:", p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(Path(sys.argv[1])))
