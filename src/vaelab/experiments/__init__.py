"""The papers' toy experiments as functions that train, evaluate and draw their figures (vaelab moons | potentials)."""
