"""Model parts every title kind shares: channels, the paid campaign (acquisition), retention,
purchases (iap), UA rules, chunked kernel runs and the cost of a draw. May import kernel and
scenario."""
