"""The baseline of goal 3: a bare FastAPI endpoint that only parses the same JSON body
(pydantic ``list[list[float]]``, like the service's other query endpoints) and answers 100 floats."""

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class VectorsIn(BaseModel):
    data: list[list[float]]


@app.post("/parse")
def parse(body: VectorsIn) -> dict:
    return {"free_energy": [0.0] * len(body.data)}
