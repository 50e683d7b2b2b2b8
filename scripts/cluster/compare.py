"""Compares two scan folders row for row (a single run and an assembled sharded run), leaving out the
columns that say when or how a row was made; exits 1 on the first difference. Also compares the
reports' group and provider tables.

    python3 scripts/cluster/compare.py SINGLE SHARDED
"""
import re
import sys
from pathlib import Path

import pyarrow.parquet as pq

RUN_VARIANT = {
    "scan_id", "scan_date", "scanned_at", "scan_duration_ms", "probe_duration_ms",
    "probe_cached", "probe_source", "probe_source_host",
}


def rows(folder: Path, dataset: str) -> list:
    table = pq.ParquetDataset(str(folder / dataset)).read()
    out = []
    for row in table.to_pylist():
        kept = {}
        for k, v in row.items():
            if k in RUN_VARIANT:
                continue
            if k.endswith("_detail") and isinstance(v, str):
                v = re.sub(r"\d", "", v)  # a certificate's words carry the verification time
            kept[k] = v
        out.append(repr(sorted(kept.items())))
    return sorted(out)


def main() -> int:
    single, sharded = Path(sys.argv[1]), Path(sys.argv[2])
    for dataset in ("domains", "mx_hosts", "client_endpoints"):
        a, b = rows(single, dataset), rows(sharded, dataset)
        if a != b:
            print(f"{dataset}: {len(a)} rows vs {len(b)}; first difference:")
            for x, y in zip(a, b):
                if x != y:
                    print(" single: ", x[:2000])
                    print(" sharded:", y[:2000])
                    break
            return 1
        print(f"{dataset}: {len(a)} rows, equal")
    for name in ("groups.csv", "providers.csv", "gmail.csv"):
        x = (single / "report" / name).read_text()
        y = (sharded / "report" / name).read_text()
        if x != y:
            print(f"report/{name} differs")
            return 1
        print(f"report/{name}: equal")
    return 0


if __name__ == "__main__":
    sys.exit(main())
