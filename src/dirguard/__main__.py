from dirguard.cli.app import main

main()
