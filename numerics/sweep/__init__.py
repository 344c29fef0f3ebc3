"""Parameter sweeps: the spec, the measures at each grid point, running locally or on Dask, and the phase figure."""
