"""The Docker-free local runtime: embedded services, ``pulse serve`` and ``pulse invoke``."""
