"""Users, roles, teams, seller profiles, API tokens and sign-in."""
