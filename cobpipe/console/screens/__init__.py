"""The console's screens, one module each. A module's `routes(console)` names the parts of the
Console its handlers use, defines the handlers over them and returns its routes; app.py puts
them together in this order: login (and the front door), queue, claim, paper, remittances, files,
users.
"""
