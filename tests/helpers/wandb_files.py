"""Reading wandb's offline run files (``run-*.wandb``) in tests."""

from __future__ import annotations

import struct
from pathlib import Path


def wandb_records(path: Path) -> list:
    """Records of a wandb transaction log (.wandb): LevelDB log format, 32 KiB blocks, protobuf records.

    wandb 0.31 ships no Python reader for its own run files, so the test reads the documented format.
    """
    from wandb.proto import wandb_internal_pb2 as pb

    data, block, header = path.read_bytes(), 32 * 1024, 7
    assert data[:4] == b":W&B"
    pos, payloads, partial = header, [], b""
    while pos + header <= len(data):
        left = block - pos % block
        if left < header:
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + header])
        if kind == 0:
            pos += left
            continue
        chunk, pos = data[pos + header : pos + header + length], pos + header + length
        if kind == 1:
            payloads.append(chunk)
        elif kind == 2:
            partial = chunk
        elif kind == 3:
            partial += chunk
        else:
            payloads.append(partial + chunk)
    records = []
    for payload in payloads:
        record = pb.Record()
        record.ParseFromString(payload)
        records.append(record)
    return records


def history_values(records: list, key: str, step_key: str = "train/global_step") -> list[tuple[float, float]]:
    """(step, value) of every history row of a run file holding ``key`` (the trainer logs its step beside it)."""
    out = []
    for r in records:
        if r.WhichOneof("record_type") != "history":
            continue
        items = {(item.key or "/".join(item.nested_key)): item.value_json for item in r.history.item}
        if key in items and step_key in items:
            out.append((float(items[step_key]), float(items[key])))
    return out
