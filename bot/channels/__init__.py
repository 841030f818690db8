"""One sender per provider behind one small protocol, the stand-ins, and the registry."""
