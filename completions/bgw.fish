complete --keep-order --exclusive --command bgw --arguments "(COMPLETE=fish bgw -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
