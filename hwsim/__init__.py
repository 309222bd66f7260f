"""hwsim: cycle-level accelerator simulator and cost model."""
