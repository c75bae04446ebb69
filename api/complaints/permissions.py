from api.core.permissions import Role, permission

# Anyone with an account may raise and follow their own tickets; agents see all.
TICKETS_OWN = permission("complaints:own", Role.customer, Role.seller, Role.affiliate,
                         Role.franchisee, Role.support, Role.analyst,
                         description="open tickets, read and reply to one's own")
TICKETS_AGENT = permission("complaints:agent", Role.support,
                           description="work every ticket: assign, notes, resolve, close")
