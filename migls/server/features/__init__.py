"""The server's features, one module each; ``register(server)`` attaches a module's handlers."""
