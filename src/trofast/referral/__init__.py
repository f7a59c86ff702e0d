"""Refer a friend: codes and links, attribution, abuse rules, rewards after the return window."""
