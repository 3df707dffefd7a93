"""What supervisors do: see which cases are stuck, where and for how long, and act on them."""
