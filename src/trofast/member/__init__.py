"""Members on the shop front: signed short-lived tokens and the access rule they follow."""
