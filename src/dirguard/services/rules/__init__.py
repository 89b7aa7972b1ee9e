"""Rules: desired-state automation over AD and Entra (store, engine, schedule)."""
