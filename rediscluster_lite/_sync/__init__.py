"""The blocking I/O shell: the only client code that touches sockets and threads."""
