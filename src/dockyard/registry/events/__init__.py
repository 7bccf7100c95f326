"""Registry events in Distribution's notification format: recorded in the transaction of the
change they report (the outbox), then delivered to the configured endpoints with retries.
"""
