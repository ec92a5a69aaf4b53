"""The data layer: the step-labeled record (data contract), loaders per source, the synthetic task,
step splitting. Heavy libraries (datasets, pyarrow) are imported only when a source needs them."""

from deepcritic.data.loaders import LoadResult, load_records
from deepcritic.data.records import StepRecord, write_jsonl
from deepcritic.data.steps import split_steps
from deepcritic.data.synthetic import generate_synthetic

__all__ = ["LoadResult", "StepRecord", "generate_synthetic", "load_records", "split_steps", "write_jsonl"]
