"""Reference models and recipes (installed as hwsim.models)."""
