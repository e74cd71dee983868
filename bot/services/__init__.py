"""What handlers use: the card desk, the publisher, rendering, rate limits, texts."""
