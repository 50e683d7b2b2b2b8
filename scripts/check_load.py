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


def check_many_scans(scan_dir: Path) -> list:
    """Two scans in the documented Hive layout (the second a copy of the first with another scan id
    and date): stable categories in pandas, signed integers, and the DuckDB views of sql/views.sql."""
    import json
    import tempfile

    import pyarrow as pa
    import pyarrow.parquet as pq

    sys.path.insert(0, str(Path(__file__).parent))
    from mailcensus_load import read_dataset, read_scans

    problems = []
    root = Path(tempfile.mkdtemp(prefix="mailcensus-scans-"))
    import datetime

    run = json.loads((scan_dir / "run.json").read_text())
    for date, scan_id in ((run["scan_date"], run["scan_id"]), ("2030-01-02", "20300102T000000Z-000002")):
        for dataset in ("domains", "mx_hosts", "client_endpoints"):
            out = root / f"scan_date={date}" / dataset
            out.mkdir(parents=True, exist_ok=True)
            for part in sorted((scan_dir / dataset).glob("*.parquet")):
                table = pq.read_table(part)
                if scan_id != run["scan_id"]:
                    day = datetime.date.fromisoformat(date)
                    for name, values in (("scan_date", pa.array([day] * table.num_rows, pa.date32())),
                                         ("scan_id", pa.array([scan_id] * table.num_rows))):
                        i = table.schema.get_field_index(name)
                        table = table.set_column(i, table.schema.field(i), values.cast(table.schema.field(i).type))
                    # The copy keeps one domain: its label values differ from the first scan's, so
                    # the two scans' categories would differ if they were not fixed.
                    if dataset == "domains":
                        table = table.slice(0, 1)
                pq.write_table(table, out / part.name)
    one = read_dataset(scan_dir / "domains")
    both = read_scans(root, "domains")
    if str(both["starttls"].dtype) != "category":
        problems.append(f"two scans concatenated: starttls is {both['starttls'].dtype}, expected category")
    if list(one["starttls"].cat.categories) != json.loads(
        pq.read_schema(next((scan_dir / "domains").glob("*.parquet"))).field("starttls").metadata[b"mailcensus.values"]
    ):
        problems.append("starttls categories are not the documented vocabulary")
    con = duckdb.connect()
    con.execute(f"set variable mailcensus_root = '{root}'")
    con.execute((Path(__file__).parent.parent / "sql" / "views.sql").read_text())
    n_scans = con.execute("select count(distinct scan_id), count(distinct scan_date) from domains").fetchone()
    if n_scans != (2, 2):
        problems.append(f"views: expected 2 scans on 2 dates, got {n_scans}")
    for view in ("group_summary", "provider_summary", "probe_failures", "red_padlock_domains", "domain_trend"):
        rows = con.execute(f"select count(*) from {view}").fetchone()[0]
        print(f"  view {view}: {rows} rows")
    unsigned = [
        (r[0], r[1])
        for r in con.execute("describe select * from domains").fetchall() + con.execute("describe select * from mx_hosts").fetchall()
        if r[1].startswith("U")
    ]
    if unsigned:
        problems.append(f"unsigned integer columns: {unsigned}")
    # Arithmetic that overflowed with unsigned columns.
    con.execute("select min(spf_lookups - 20), min(mx_count - 100), min(dkim_selectors_probed - 1000) from domains").fetchall()
    keys = con.execute("select count(*) from (select unnest(dkim_keys) as k from domains) where k.selector is not null").fetchone()
    print(f"  two scans: {len(both)} domains rows; {keys[0]} DKIM keys as structs")
    return problems


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
    problems += check_many_scans(scan_dir)
    for p in problems:
        print("PROBLEM:", p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(Path(sys.argv[1])))
