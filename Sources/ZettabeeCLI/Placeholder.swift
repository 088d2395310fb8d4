// ZettabeeCLI
