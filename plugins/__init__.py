"""Built-in plugins: thin handlers that parse arguments, call the store and build a Reply."""
