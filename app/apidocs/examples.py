"""OpenAPI example values that work against the README's own flow: a binary RBM trained on the
built-in ``digits`` (8x8 = 64 visible units). One home, so every route's example fits one model;
tests/docs/test_openapi_examples.py sends them all, in README order, to a fresh server."""

from __future__ import annotations

_ZERO = ("00111100" "01100110" "01000010" "01000010" "01000010" "01000010" "01100110" "00111100")
_ONE = ("00011000" "00111000" "00011000" "00011000" "00011000" "00011000" "00011000" "00111100")

DIGIT_ZERO: list[int] = [int(c) for c in _ZERO]
DIGIT_ONE: list[int] = [int(c) for c in _ONE]
DIGITS_ROWS: list[list[int]] = [DIGIT_ZERO, DIGIT_ONE]  # two 64-unit vectors: an 8x8 "0" and "1"

# KL enumerates all 2^V states, so its example targets a 4-unit model (bars-and-stripes n=2):
# the uniform distribution over its 6 patterns, in binary counting order (unit 0 most significant)
BARS_STRIPES_2 = [1 / 6 if s in (0b0000, 0b0011, 0b0101, 0b1010, 0b1100, 0b1111) else 0.0 for s in range(16)]

DATASET_PLACEHOLDER = "<the id POST /v1/datasets/builtin returned>"  # app/jobs/kinds/train.py says the same
MODEL_PLACEHOLDER = "<the model_id of a finished training job>"  # app/jobs/kinds/estimate.py says the same
