"""voiceguard's benchmarks: datasets, the attack suite, metrics, and `voiceguard bench ...`."""
