"""Evidence collectors: each starts with the drill and, when stopped, writes into the run directory."""
