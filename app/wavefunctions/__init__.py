"""HTTP routes of wave-function models (kind `wavefunction`): energy and log psi."""
