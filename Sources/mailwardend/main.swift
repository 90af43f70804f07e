// mailwardend: the MailWarden milter daemon. Everything runs from Daemon.main (not top-level code:
// top-level code is main-actor code, and libmilter calls back on its own threads).
Daemon.main()
