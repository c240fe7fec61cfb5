"""The "shop" example application: two tables, enough to autogenerate revisions from."""
