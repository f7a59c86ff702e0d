"""The loyalty programme: its versioned document, earning rules, tiers and the engine."""
