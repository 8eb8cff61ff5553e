"""Who may use the dashboard: users and roles, passwords, sessions, CSRF and the sign-in throttle.

Roles rank ``analyst`` < ``supervisor`` < ``admin``; each may do what the ones below it may.
Analysts review alerts; supervisors also close escalations and assign alerts to others;
admins also manage users. The first admin is made on the command line
(``chainwatch-dashboard create-admin``); there is no default account.
"""
