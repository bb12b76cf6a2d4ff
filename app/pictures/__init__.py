"""PNG pictures of models and jobs: ``render`` draws arrays, ``service`` gathers them, ``router`` serves them."""
