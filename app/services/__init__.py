"""What the application does, as plain functions over the database session (no Flask request objects)."""
