"""A generated demo shop: customers, a year of web and store orders, refunds, deliveries."""
