"""Engine: mechanism contract, day board, calendar and the simulation loop."""
