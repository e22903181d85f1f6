"""revrec's web app and REST API (SPEC §11.2): a thin shell over the services, like the CLI."""
