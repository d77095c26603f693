"""``modeltap demo``: a real model served over HTTP, scored by concurrent clients, collected."""
