"""The protocol compiler: any linear interaction protocol in, its derived theory out (P1-P5)."""
