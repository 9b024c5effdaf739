# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_bgw_global_optspecs
    string join \n data-dir= h/help V/version
end

function __fish_bgw_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_bgw_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_bgw_using_subcommand
    set -l cmd (__fish_bgw_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c bgw -n "__fish_bgw_needs_command" -l data-dir -d 'Where bgw keeps its state (one redb file) [default: the platform data directory]' -r -F
complete -c bgw -n "__fish_bgw_needs_command" -s h -l help -d 'Print help'
complete -c bgw -n "__fish_bgw_needs_command" -s V -l version -d 'Print version'
complete -c bgw -n "__fish_bgw_needs_command" -f -a "run" -d 'Start a gateway and launch Claude Code through it; exits when Claude Code does'
complete -c bgw -n "__fish_bgw_needs_command" -f -a "serve" -d 'Run the gateway for any Anthropic Messages client'
complete -c bgw -n "__fish_bgw_needs_command" -f -a "keys" -d 'Add, list and remove provider keys'
complete -c bgw -n "__fish_bgw_needs_command" -f -a "models" -d 'List the models each configured provider offers'
complete -c bgw -n "__fish_bgw_needs_command" -f -a "route" -d 'Routing rules: where requests go by a CEL condition, weighted splits, fallbacks'
complete -c bgw -n "__fish_bgw_needs_command" -f -a "budget" -d 'Budgets and rate limits per virtual key, team, customer, provider or in all'
complete -c bgw -n "__fish_bgw_needs_command" -f -a "logs" -d 'Show the request log: every request, its provider, tokens, cost'
complete -c bgw -n "__fish_bgw_needs_command" -f -a "self-update" -d 'Replace this bgw with the newest release (sha256 checked), if install.sh installed it'
complete -c bgw -n "__fish_bgw_needs_command" -f -a "completions" -d 'Print the completion script for bash, zsh, fish, powershell or elvish'
complete -c bgw -n "__fish_bgw_needs_command" -f -a "store-owner" -d 'Hold the store file and serve other bgw processes (started by bgw itself when needed)'
complete -c bgw -n "__fish_bgw_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bgw -n "__fish_bgw_using_subcommand run" -l opus -d 'Model for the `opus` alias, as provider/model' -r
complete -c bgw -n "__fish_bgw_using_subcommand run" -l sonnet -d 'Model for the `sonnet` alias, as provider/model' -r
complete -c bgw -n "__fish_bgw_using_subcommand run" -l haiku -d 'Model for the `haiku` alias (and background tasks), as provider/model' -r
complete -c bgw -n "__fish_bgw_using_subcommand run" -l fable -d 'Model for the `fable` alias, as provider/model' -r
complete -c bgw -n "__fish_bgw_using_subcommand run" -l model -d 'The session\'s main model, as provider/model' -r
complete -c bgw -n "__fish_bgw_using_subcommand run" -l port -d 'Port for the gateway (0 picks a free one)' -r
complete -c bgw -n "__fish_bgw_using_subcommand run" -l key -d 'Charge this session to the stored virtual key NAME (its budgets, team and customer), without handling its secret' -r
complete -c bgw -n "__fish_bgw_using_subcommand run" -l budget -d 'Stop this session once it has spent this many US dollars (`5`, `$12.50`)' -r
complete -c bgw -n "__fish_bgw_using_subcommand run" -l claude-bin -d 'The Claude Code executable [default: `claude` on PATH]' -r -F
complete -c bgw -n "__fish_bgw_using_subcommand run" -l max-body-mb -d 'Largest request body accepted, in MiB' -r
complete -c bgw -n "__fish_bgw_using_subcommand run" -l upstream-timeout -d 'Seconds an upstream may stay silent before the request fails' -r
complete -c bgw -n "__fish_bgw_using_subcommand run" -l first-byte-timeout -d 'Seconds a streamed answer\'s first event may take before the next target is tried' -r
complete -c bgw -n "__fish_bgw_using_subcommand run" -l max-attempts -d 'Tries of one request across all its targets (retries and fallbacks together)' -r
complete -c bgw -n "__fish_bgw_using_subcommand run" -l data-dir -d 'Where bgw keeps its state (one redb file) [default: the platform data directory]' -r -F
complete -c bgw -n "__fish_bgw_using_subcommand run" -l bedrock -d 'Run Claude Code in its Amazon Bedrock mode (`CLAUDE_CODE_USE_BEDROCK`), served by bgw: for setups that require that mode; the models are routed like any others'
complete -c bgw -n "__fish_bgw_using_subcommand run" -l vertex -d 'Run Claude Code in its Google Vertex AI mode (`CLAUDE_CODE_USE_VERTEX`), served by bgw'
complete -c bgw -n "__fish_bgw_using_subcommand run" -l no-content -d 'Log requests without their bodies (the request and the response)'
complete -c bgw -n "__fish_bgw_using_subcommand run" -l no-log -d 'Keep no request log at all (`bgw logs` will not see this gateway\'s requests)'
complete -c bgw -n "__fish_bgw_using_subcommand run" -s h -l help -d 'Print help'
complete -c bgw -n "__fish_bgw_using_subcommand run" -s V -l version -d 'Print version'
complete -c bgw -n "__fish_bgw_using_subcommand serve" -l host -d 'Address to listen on' -r
complete -c bgw -n "__fish_bgw_using_subcommand serve" -l port -d 'Port to listen on (0 picks a free one)' -r
complete -c bgw -n "__fish_bgw_using_subcommand serve" -l max-body-mb -d 'Largest request body accepted, in MiB' -r
complete -c bgw -n "__fish_bgw_using_subcommand serve" -l upstream-timeout -d 'Seconds an upstream may stay silent before the request fails' -r
complete -c bgw -n "__fish_bgw_using_subcommand serve" -l first-byte-timeout -d 'Seconds a streamed answer\'s first event may take before the next target is tried' -r
complete -c bgw -n "__fish_bgw_using_subcommand serve" -l max-attempts -d 'Tries of one request across all its targets (retries and fallbacks together)' -r
complete -c bgw -n "__fish_bgw_using_subcommand serve" -l data-dir -d 'Where bgw keeps its state (one redb file) [default: the platform data directory]' -r -F
complete -c bgw -n "__fish_bgw_using_subcommand serve" -l allow-anonymous -d 'Serve requests without a virtual key too (as anonymous callers), even once virtual keys exist or on a non-loopback `--host`'
complete -c bgw -n "__fish_bgw_using_subcommand serve" -l no-content -d 'Log requests without their bodies (the request and the response)'
complete -c bgw -n "__fish_bgw_using_subcommand serve" -l no-log -d 'Keep no request log at all (`bgw logs` will not see this gateway\'s requests)'
complete -c bgw -n "__fish_bgw_using_subcommand serve" -s h -l help -d 'Print help'
complete -c bgw -n "__fish_bgw_using_subcommand serve" -s V -l version -d 'Print version'
complete -c bgw -n "__fish_bgw_using_subcommand keys; and not __fish_seen_subcommand_from add list rm virtual help" -l data-dir -d 'Where bgw keeps its state (one redb file) [default: the platform data directory]' -r -F
complete -c bgw -n "__fish_bgw_using_subcommand keys; and not __fish_seen_subcommand_from add list rm virtual help" -s h -l help -d 'Print help'
complete -c bgw -n "__fish_bgw_using_subcommand keys; and not __fish_seen_subcommand_from add list rm virtual help" -s V -l version -d 'Print version'
complete -c bgw -n "__fish_bgw_using_subcommand keys; and not __fish_seen_subcommand_from add list rm virtual help" -f -a "add" -d 'Add a key for a provider'
complete -c bgw -n "__fish_bgw_using_subcommand keys; and not __fish_seen_subcommand_from add list rm virtual help" -f -a "list" -d 'List keys (never prints a secret)'
complete -c bgw -n "__fish_bgw_using_subcommand keys; and not __fish_seen_subcommand_from add list rm virtual help" -f -a "rm" -d 'Remove a key by name'
complete -c bgw -n "__fish_bgw_using_subcommand keys; and not __fish_seen_subcommand_from add list rm virtual help" -f -a "virtual" -d 'Virtual keys: the keys bgw gives its own callers, each with its models, budget and expiry'
complete -c bgw -n "__fish_bgw_using_subcommand keys; and not __fish_seen_subcommand_from add list rm virtual help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bgw -n "__fish_bgw_using_subcommand keys; and __fish_seen_subcommand_from add" -l name -d 'Name of this key [default: the provider name]' -r
complete -c bgw -n "__fish_bgw_using_subcommand keys; and __fish_seen_subcommand_from add" -l value -d 'The key itself (stored in the data file; prefer --env)' -r
complete -c bgw -n "__fish_bgw_using_subcommand keys; and __fish_seen_subcommand_from add" -l env -d 'Read the key from this environment variable each time it is used' -r
complete -c bgw -n "__fish_bgw_using_subcommand keys; and __fish_seen_subcommand_from add" -l file -d 'vertex: a service account\'s JSON key file, read each time it is used (only its path is stored). Without --file, --value or --stdin, vertex uses the application-default credentials (`gcloud auth application-default login`) and bedrock the AWS credentials of the environment or of --profile' -r -F
complete -c bgw -n "__fish_bgw_using_subcommand keys; and __fish_seen_subcommand_from add" -l project -d 'vertex: the Google Cloud project [default: the key file\'s]' -r
complete -c bgw -n "__fish_bgw_using_subcommand keys; and __fish_seen_subcommand_from add" -l region -d 'vertex: the location (`us-east5`, `global`) [default: global]; bedrock: the AWS region [default: AWS_REGION, or the profile\'s]' -r
complete -c bgw -n "__fish_bgw_using_subcommand keys; and __fish_seen_subcommand_from add" -l profile -d 'bedrock: the profile of ~/.aws/credentials to sign with [default: AWS_PROFILE, or default] (the environment\'s AWS_ACCESS_KEY_ID comes first, as in the AWS CLI)' -r
complete -c bgw -n "__fish_bgw_using_subcommand keys; and __fish_seen_subcommand_from add" -l base-url -d 'Base URL of the API (required for azure and --compat)' -r
complete -c bgw -n "__fish_bgw_using_subcommand keys; and __fish_seen_subcommand_from add" -l weight -d 'Share of requests this key takes among the provider\'s keys (any scale: 70 and 30, or 0.7 and 0.3); 0 keeps it for failover only' -r
complete -c bgw -n "__fish_bgw_using_subcommand keys; and __fish_seen_subcommand_from add" -l models -d 'Use this key only for these models (comma-separated)' -r
complete -c bgw -n "__fish_bgw_using_subcommand keys; and __fish_seen_subcommand_from add" -l compat -d 'For a provider of your own: the API it speaks (openai or anthropic)' -r -f -a "openai\t''
anthropic\t''"
complete -c bgw -n "__fish_bgw_using_subcommand keys; and __fish_seen_subcommand_from add" -l data-dir -d 'Where bgw keeps its state (one redb file) [default: the platform data directory]' -r -F
complete -c bgw -n "__fish_bgw_using_subcommand keys; and __fish_seen_subcommand_from add" -l stdin -d 'Read the key from standard input (stored in the data file); for vertex, a service account\'s JSON key'
complete -c bgw -n "__fish_bgw_using_subcommand keys; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bgw -n "__fish_bgw_using_subcommand keys; and __fish_seen_subcommand_from add" -s V -l version -d 'Print version'
complete -c bgw -n "__fish_bgw_using_subcommand keys; and __fish_seen_subcommand_from list" -l data-dir -d 'Where bgw keeps its state (one redb file) [default: the platform data directory]' -r -F
complete -c bgw -n "__fish_bgw_using_subcommand keys; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c bgw -n "__fish_bgw_using_subcommand keys; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c bgw -n "__fish_bgw_using_subcommand keys; and __fish_seen_subcommand_from rm" -l data-dir -d 'Where bgw keeps its state (one redb file) [default: the platform data directory]' -r -F
complete -c bgw -n "__fish_bgw_using_subcommand keys; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help'
complete -c bgw -n "__fish_bgw_using_subcommand keys; and __fish_seen_subcommand_from rm" -s V -l version -d 'Print version'
complete -c bgw -n "__fish_bgw_using_subcommand keys; and __fish_seen_subcommand_from virtual" -l data-dir -d 'Where bgw keeps its state (one redb file) [default: the platform data directory]' -r -F
complete -c bgw -n "__fish_bgw_using_subcommand keys; and __fish_seen_subcommand_from virtual" -s h -l help -d 'Print help'
complete -c bgw -n "__fish_bgw_using_subcommand keys; and __fish_seen_subcommand_from virtual" -s V -l version -d 'Print version'
complete -c bgw -n "__fish_bgw_using_subcommand keys; and __fish_seen_subcommand_from virtual" -f -a "create" -d 'Make a virtual key; its secret is printed once, on stdout'
complete -c bgw -n "__fish_bgw_using_subcommand keys; and __fish_seen_subcommand_from virtual" -f -a "list" -d 'List virtual keys (never a secret: only its last 4 characters)'
complete -c bgw -n "__fish_bgw_using_subcommand keys; and __fish_seen_subcommand_from virtual" -f -a "show" -d 'Show one virtual key: what it may use, its limits, its status'
complete -c bgw -n "__fish_bgw_using_subcommand keys; and __fish_seen_subcommand_from virtual" -f -a "rotate" -d 'Give a virtual key a new secret (printed once); the old one stops working at once'
complete -c bgw -n "__fish_bgw_using_subcommand keys; and __fish_seen_subcommand_from virtual" -f -a "disable" -d 'Refuse a virtual key\'s requests until `enable`'
complete -c bgw -n "__fish_bgw_using_subcommand keys; and __fish_seen_subcommand_from virtual" -f -a "enable" -d 'Accept a disabled virtual key\'s requests again'
complete -c bgw -n "__fish_bgw_using_subcommand keys; and __fish_seen_subcommand_from virtual" -f -a "rm" -d 'Remove a virtual key and its limits'
complete -c bgw -n "__fish_bgw_using_subcommand keys; and __fish_seen_subcommand_from virtual" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bgw -n "__fish_bgw_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add a key for a provider'
complete -c bgw -n "__fish_bgw_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "list" -d 'List keys (never prints a secret)'
complete -c bgw -n "__fish_bgw_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "rm" -d 'Remove a key by name'
complete -c bgw -n "__fish_bgw_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "virtual" -d 'Virtual keys: the keys bgw gives its own callers, each with its models, budget and expiry'
complete -c bgw -n "__fish_bgw_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bgw -n "__fish_bgw_using_subcommand models; and not __fish_seen_subcommand_from price help" -l provider -d 'Only this provider' -r
complete -c bgw -n "__fish_bgw_using_subcommand models; and not __fish_seen_subcommand_from price help" -l data-dir -d 'Where bgw keeps its state (one redb file) [default: the platform data directory]' -r -F
complete -c bgw -n "__fish_bgw_using_subcommand models; and not __fish_seen_subcommand_from price help" -l json -d 'One JSON object per model, one per line'
complete -c bgw -n "__fish_bgw_using_subcommand models; and not __fish_seen_subcommand_from price help" -s h -l help -d 'Print help'
complete -c bgw -n "__fish_bgw_using_subcommand models; and not __fish_seen_subcommand_from price help" -s V -l version -d 'Print version'
complete -c bgw -n "__fish_bgw_using_subcommand models; and not __fish_seen_subcommand_from price help" -f -a "price" -d 'Set, remove and list your own prices per model (they win over bgw\'s)'
complete -c bgw -n "__fish_bgw_using_subcommand models; and not __fish_seen_subcommand_from price help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bgw -n "__fish_bgw_using_subcommand models; and __fish_seen_subcommand_from price" -l data-dir -d 'Where bgw keeps its state (one redb file) [default: the platform data directory]' -r -F
complete -c bgw -n "__fish_bgw_using_subcommand models; and __fish_seen_subcommand_from price" -s h -l help -d 'Print help'
complete -c bgw -n "__fish_bgw_using_subcommand models; and __fish_seen_subcommand_from price" -s V -l version -d 'Print version'
complete -c bgw -n "__fish_bgw_using_subcommand models; and __fish_seen_subcommand_from price" -f -a "set" -d 'Set your price for a model, in US dollars per million tokens'
complete -c bgw -n "__fish_bgw_using_subcommand models; and __fish_seen_subcommand_from price" -f -a "rm" -d 'Remove your price for a model (back to bgw\'s built-in price, or to unknown)'
complete -c bgw -n "__fish_bgw_using_subcommand models; and __fish_seen_subcommand_from price" -f -a "list" -d 'List your prices; with --all, bgw\'s built-in prices too'
complete -c bgw -n "__fish_bgw_using_subcommand models; and __fish_seen_subcommand_from price" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bgw -n "__fish_bgw_using_subcommand models; and __fish_seen_subcommand_from help" -f -a "price" -d 'Set, remove and list your own prices per model (they win over bgw\'s)'
complete -c bgw -n "__fish_bgw_using_subcommand models; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bgw -n "__fish_bgw_using_subcommand route; and not __fish_seen_subcommand_from add list show rm disable enable test help" -l data-dir -d 'Where bgw keeps its state (one redb file) [default: the platform data directory]' -r -F
complete -c bgw -n "__fish_bgw_using_subcommand route; and not __fish_seen_subcommand_from add list show rm disable enable test help" -s h -l help -d 'Print help'
complete -c bgw -n "__fish_bgw_using_subcommand route; and not __fish_seen_subcommand_from add list show rm disable enable test help" -s V -l version -d 'Print version'
complete -c bgw -n "__fish_bgw_using_subcommand route; and not __fish_seen_subcommand_from add list show rm disable enable test help" -f -a "add" -d 'Add a rule: `bgw route add ab-test --when \'tier == "sonnet"\' --to \'openai/gpt-4o=70,groq/llama-3.1-70b-versatile=30\'`'
complete -c bgw -n "__fish_bgw_using_subcommand route; and not __fish_seen_subcommand_from add list show rm disable enable test help" -f -a "list" -d 'List the rules in the order they are searched'
complete -c bgw -n "__fish_bgw_using_subcommand route; and not __fish_seen_subcommand_from add list show rm disable enable test help" -f -a "show" -d 'Show one rule'
complete -c bgw -n "__fish_bgw_using_subcommand route; and not __fish_seen_subcommand_from add list show rm disable enable test help" -f -a "rm" -d 'Remove a rule'
complete -c bgw -n "__fish_bgw_using_subcommand route; and not __fish_seen_subcommand_from add list show rm disable enable test help" -f -a "disable" -d 'Stop using a rule (it stays stored)'
complete -c bgw -n "__fish_bgw_using_subcommand route; and not __fish_seen_subcommand_from add list show rm disable enable test help" -f -a "enable" -d 'Use a disabled rule again'
complete -c bgw -n "__fish_bgw_using_subcommand route; and not __fish_seen_subcommand_from add list show rm disable enable test help" -f -a "test" -d 'Show which rule a request would match, why the rules before it did not, and the targets it would try in order'
complete -c bgw -n "__fish_bgw_using_subcommand route; and not __fish_seen_subcommand_from add list show rm disable enable test help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from add" -l when -d 'The CEL condition, e.g. `budget.used_pct > 85.0` or `model == "openai/gpt-5"`' -r
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from add" -l to -d 'Where matching requests go: `provider/model`, or a weighted split `openai/gpt-4o=70,groq/llama-3.1-70b-versatile=30` (weights normalise: 70,30 = 0.7,0.3)' -r
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from add" -l fallback -d 'Models tried in turn when the chosen target fails (comma-separated `provider/model`s)' -r
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from add" -l scope -d 'Whose requests it sees: global, key:NAME, team:NAME or customer:NAME' -r
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from add" -l priority -d 'Within its scope, rules of higher priority are searched first' -r
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from add" -l data-dir -d 'Where bgw keeps its state (one redb file) [default: the platform data directory]' -r -F
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from add" -s V -l version -d 'Print version'
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from list" -l data-dir -d 'Where bgw keeps its state (one redb file) [default: the platform data directory]' -r -F
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from list" -l json -d 'One JSON object per line'
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from show" -l data-dir -d 'Where bgw keeps its state (one redb file) [default: the platform data directory]' -r -F
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from show" -l json -d 'As JSON'
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from rm" -l data-dir -d 'Where bgw keeps its state (one redb file) [default: the platform data directory]' -r -F
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help'
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from rm" -s V -l version -d 'Print version'
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from disable" -l data-dir -d 'Where bgw keeps its state (one redb file) [default: the platform data directory]' -r -F
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from disable" -s h -l help -d 'Print help'
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from disable" -s V -l version -d 'Print version'
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from enable" -l data-dir -d 'Where bgw keeps its state (one redb file) [default: the platform data directory]' -r -F
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from enable" -s h -l help -d 'Print help'
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from enable" -s V -l version -d 'Print version'
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from test" -l model -d 'The model the request asks for' -r
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from test" -l key -d 'The virtual key making the request (its team and customer come with it)' -r
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from test" -l header -d 'A request header, `name=value` (repeatable)' -r
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from test" -l tokens -d 'The request\'s input tokens (`tokens.input`)' -r
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from test" -l data-dir -d 'Where bgw keeps its state (one redb file) [default: the platform data directory]' -r -F
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from test" -l stream -d 'The request streams (`request.stream`)'
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from test" -s h -l help -d 'Print help'
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from test" -s V -l version -d 'Print version'
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add a rule: `bgw route add ab-test --when \'tier == "sonnet"\' --to \'openai/gpt-4o=70,groq/llama-3.1-70b-versatile=30\'`'
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the rules in the order they are searched'
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show one rule'
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from help" -f -a "rm" -d 'Remove a rule'
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from help" -f -a "disable" -d 'Stop using a rule (it stays stored)'
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from help" -f -a "enable" -d 'Use a disabled rule again'
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from help" -f -a "test" -d 'Show which rule a request would match, why the rules before it did not, and the targets it would try in order'
complete -c bgw -n "__fish_bgw_using_subcommand route; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bgw -n "__fish_bgw_using_subcommand budget; and not __fish_seen_subcommand_from set rm help" -l data-dir -d 'Where bgw keeps its state (one redb file) [default: the platform data directory]' -r -F
complete -c bgw -n "__fish_bgw_using_subcommand budget; and not __fish_seen_subcommand_from set rm help" -l json -d 'One JSON array instead of the table'
complete -c bgw -n "__fish_bgw_using_subcommand budget; and not __fish_seen_subcommand_from set rm help" -s h -l help -d 'Print help'
complete -c bgw -n "__fish_bgw_using_subcommand budget; and not __fish_seen_subcommand_from set rm help" -s V -l version -d 'Print version'
complete -c bgw -n "__fish_bgw_using_subcommand budget; and not __fish_seen_subcommand_from set rm help" -f -a "set" -d 'Set a budget or rate limit: `bgw budget set team eng 500/month`'
complete -c bgw -n "__fish_bgw_using_subcommand budget; and not __fish_seen_subcommand_from set rm help" -f -a "rm" -d 'Remove a scope\'s budget and rate limits: `bgw budget rm team eng`'
complete -c bgw -n "__fish_bgw_using_subcommand budget; and not __fish_seen_subcommand_from set rm help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bgw -n "__fish_bgw_using_subcommand budget; and __fish_seen_subcommand_from set" -l rate -d 'Requests per period, for all the scope\'s callers together (`60/min`)' -r
complete -c bgw -n "__fish_bgw_using_subcommand budget; and __fish_seen_subcommand_from set" -l tokens -d 'Tokens per period, input and output (`100k/min`, `2M/day`); once per period' -r
complete -c bgw -n "__fish_bgw_using_subcommand budget; and __fish_seen_subcommand_from set" -l tz -d 'IANA time zone of the calendar periods (`Asia/Shanghai`) [default: UTC]' -r
complete -c bgw -n "__fish_bgw_using_subcommand budget; and __fish_seen_subcommand_from set" -l warn -d 'Warn from this percentage of the money budget on [default: 80] (Claude Code shows its usage warning only from 70% on; `bgw budget` and `bgw run`\'s last line from this)' -r
complete -c bgw -n "__fish_bgw_using_subcommand budget; and __fish_seen_subcommand_from set" -l data-dir -d 'Where bgw keeps its state (one redb file) [default: the platform data directory]' -r -F
complete -c bgw -n "__fish_bgw_using_subcommand budget; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bgw -n "__fish_bgw_using_subcommand budget; and __fish_seen_subcommand_from set" -s V -l version -d 'Print version'
complete -c bgw -n "__fish_bgw_using_subcommand budget; and __fish_seen_subcommand_from rm" -l data-dir -d 'Where bgw keeps its state (one redb file) [default: the platform data directory]' -r -F
complete -c bgw -n "__fish_bgw_using_subcommand budget; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help'
complete -c bgw -n "__fish_bgw_using_subcommand budget; and __fish_seen_subcommand_from rm" -s V -l version -d 'Print version'
complete -c bgw -n "__fish_bgw_using_subcommand budget; and __fish_seen_subcommand_from help" -f -a "set" -d 'Set a budget or rate limit: `bgw budget set team eng 500/month`'
complete -c bgw -n "__fish_bgw_using_subcommand budget; and __fish_seen_subcommand_from help" -f -a "rm" -d 'Remove a scope\'s budget and rate limits: `bgw budget rm team eng`'
complete -c bgw -n "__fish_bgw_using_subcommand budget; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bgw -n "__fish_bgw_using_subcommand logs; and not __fish_seen_subcommand_from show stats settings help" -l provider -d 'Only requests served by this provider (`openai`, `groq`, …)' -r
complete -c bgw -n "__fish_bgw_using_subcommand logs; and not __fish_seen_subcommand_from show stats settings help" -l model -d 'Only requests for this model (the upstream model or the one asked for)' -r
complete -c bgw -n "__fish_bgw_using_subcommand logs; and not __fish_seen_subcommand_from show stats settings help" -l status -d 'Only `ok` requests, only `error`s (refused or broken off), or one HTTP status (`429`)' -r
complete -c bgw -n "__fish_bgw_using_subcommand logs; and not __fish_seen_subcommand_from show stats settings help" -l since -d 'Only requests started at or after WHEN: a duration ago (`30s`, `90m`, `2h`, `7d`), a date (`2026-11-20`) or date and time (`2026-11-20T14:00`), both UTC, or RFC 3339 with `Z` or an offset' -r
complete -c bgw -n "__fish_bgw_using_subcommand logs; and not __fish_seen_subcommand_from show stats settings help" -l until -d 'Only requests started before WHEN (the forms of --since)' -r
complete -c bgw -n "__fish_bgw_using_subcommand logs; and not __fish_seen_subcommand_from show stats settings help" -l search -d 'Only requests whose request, response or error contains TEXT (any case)' -r
complete -c bgw -n "__fish_bgw_using_subcommand logs; and not __fish_seen_subcommand_from show stats settings help" -l session -d 'Only requests of one Claude Code session (its session id)' -r
complete -c bgw -n "__fish_bgw_using_subcommand logs; and not __fish_seen_subcommand_from show stats settings help" -l key -d 'Only requests made with this virtual key' -r
complete -c bgw -n "__fish_bgw_using_subcommand logs; and not __fish_seen_subcommand_from show stats settings help" -l team -d 'Only requests of this team\'s virtual keys' -r
complete -c bgw -n "__fish_bgw_using_subcommand logs; and not __fish_seen_subcommand_from show stats settings help" -l customer -d 'Only requests of this customer\'s virtual keys' -r
complete -c bgw -n "__fish_bgw_using_subcommand logs; and not __fish_seen_subcommand_from show stats settings help" -s n -l limit -d 'Show at most N requests, the newest [default: 50 in the table, all with --json]' -r
complete -c bgw -n "__fish_bgw_using_subcommand logs; and not __fish_seen_subcommand_from show stats settings help" -l data-dir -d 'Where bgw keeps its state (one redb file) [default: the platform data directory]' -r -F
complete -c bgw -n "__fish_bgw_using_subcommand logs; and not __fish_seen_subcommand_from show stats settings help" -s f -l follow -d 'Print the newest requests (10, or --limit), then each new one as it is logged, from every running gateway (like `tail -f`; Ctrl-C ends it)'
complete -c bgw -n "__fish_bgw_using_subcommand logs; and not __fish_seen_subcommand_from show stats settings help" -l json -d 'One JSON object per line instead of the table (newest first; with --follow, in the order they are logged)'
complete -c bgw -n "__fish_bgw_using_subcommand logs; and not __fish_seen_subcommand_from show stats settings help" -s h -l help -d 'Print help'
complete -c bgw -n "__fish_bgw_using_subcommand logs; and not __fish_seen_subcommand_from show stats settings help" -s V -l version -d 'Print version'
complete -c bgw -n "__fish_bgw_using_subcommand logs; and not __fish_seen_subcommand_from show stats settings help" -f -a "show" -d 'One request whole: timings, attempts, the request and the response'
complete -c bgw -n "__fish_bgw_using_subcommand logs; and not __fish_seen_subcommand_from show stats settings help" -f -a "stats" -d 'Totals per provider, model, session, virtual key, team or customer: requests, errors, tokens, cost, latency'
complete -c bgw -n "__fish_bgw_using_subcommand logs; and not __fish_seen_subcommand_from show stats settings help" -f -a "settings" -d 'Show or change what the request log keeps and for how long'
complete -c bgw -n "__fish_bgw_using_subcommand logs; and not __fish_seen_subcommand_from show stats settings help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bgw -n "__fish_bgw_using_subcommand logs; and __fish_seen_subcommand_from show" -l data-dir -d 'Where bgw keeps its state (one redb file) [default: the platform data directory]' -r -F
complete -c bgw -n "__fish_bgw_using_subcommand logs; and __fish_seen_subcommand_from show" -l json -d 'One JSON object per line instead of the table (newest first; with --follow, in the order they are logged)'
complete -c bgw -n "__fish_bgw_using_subcommand logs; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c bgw -n "__fish_bgw_using_subcommand logs; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c bgw -n "__fish_bgw_using_subcommand logs; and __fish_seen_subcommand_from stats" -l provider -d 'Only requests served by this provider (`openai`, `groq`, …)' -r
complete -c bgw -n "__fish_bgw_using_subcommand logs; and __fish_seen_subcommand_from stats" -l model -d 'Only requests for this model (the upstream model or the one asked for)' -r
complete -c bgw -n "__fish_bgw_using_subcommand logs; and __fish_seen_subcommand_from stats" -l status -d 'Only `ok` requests, only `error`s (refused or broken off), or one HTTP status (`429`)' -r
complete -c bgw -n "__fish_bgw_using_subcommand logs; and __fish_seen_subcommand_from stats" -l since -d 'Only requests started at or after WHEN: a duration ago (`30s`, `90m`, `2h`, `7d`), a date (`2026-11-20`) or date and time (`2026-11-20T14:00`), both UTC, or RFC 3339 with `Z` or an offset' -r
complete -c bgw -n "__fish_bgw_using_subcommand logs; and __fish_seen_subcommand_from stats" -l until -d 'Only requests started before WHEN (the forms of --since)' -r
complete -c bgw -n "__fish_bgw_using_subcommand logs; and __fish_seen_subcommand_from stats" -l search -d 'Only requests whose request, response or error contains TEXT (any case)' -r
complete -c bgw -n "__fish_bgw_using_subcommand logs; and __fish_seen_subcommand_from stats" -l session -d 'Only requests of one Claude Code session (its session id)' -r
complete -c bgw -n "__fish_bgw_using_subcommand logs; and __fish_seen_subcommand_from stats" -l key -d 'Only requests made with this virtual key' -r
complete -c bgw -n "__fish_bgw_using_subcommand logs; and __fish_seen_subcommand_from stats" -l team -d 'Only requests of this team\'s virtual keys' -r
complete -c bgw -n "__fish_bgw_using_subcommand logs; and __fish_seen_subcommand_from stats" -l customer -d 'Only requests of this customer\'s virtual keys' -r
complete -c bgw -n "__fish_bgw_using_subcommand logs; and __fish_seen_subcommand_from stats" -l by -d 'Group the totals by this' -r -f -a "all\t'One line for everything'
provider\t''
model\t'The upstream model'
session\t'Claude Code\'s session'
key\t'The virtual key that made the request'
team\t'The virtual key\'s team'
customer\t'The virtual key\'s customer'"
complete -c bgw -n "__fish_bgw_using_subcommand logs; and __fish_seen_subcommand_from stats" -l data-dir -d 'Where bgw keeps its state (one redb file) [default: the platform data directory]' -r -F
complete -c bgw -n "__fish_bgw_using_subcommand logs; and __fish_seen_subcommand_from stats" -l json -d 'One JSON object per line instead of the table (newest first; with --follow, in the order they are logged)'
complete -c bgw -n "__fish_bgw_using_subcommand logs; and __fish_seen_subcommand_from stats" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bgw -n "__fish_bgw_using_subcommand logs; and __fish_seen_subcommand_from stats" -s V -l version -d 'Print version'
complete -c bgw -n "__fish_bgw_using_subcommand logs; and __fish_seen_subcommand_from settings" -l content -d 'Keep each request\'s body and response (`bgw serve --no-content` still keeps none for its own requests)' -r -f -a "on\t''
off\t''"
complete -c bgw -n "__fish_bgw_using_subcommand logs; and __fish_seen_subcommand_from settings" -l retention -d 'Delete rows older than this (`30d`, `8w`, a number of days), or keep them `forever`' -r
complete -c bgw -n "__fish_bgw_using_subcommand logs; and __fish_seen_subcommand_from settings" -l data-dir -d 'Where bgw keeps its state (one redb file) [default: the platform data directory]' -r -F
complete -c bgw -n "__fish_bgw_using_subcommand logs; and __fish_seen_subcommand_from settings" -l json -d 'One JSON object per line instead of the table (newest first; with --follow, in the order they are logged)'
complete -c bgw -n "__fish_bgw_using_subcommand logs; and __fish_seen_subcommand_from settings" -s h -l help -d 'Print help'
complete -c bgw -n "__fish_bgw_using_subcommand logs; and __fish_seen_subcommand_from settings" -s V -l version -d 'Print version'
complete -c bgw -n "__fish_bgw_using_subcommand logs; and __fish_seen_subcommand_from help" -f -a "show" -d 'One request whole: timings, attempts, the request and the response'
complete -c bgw -n "__fish_bgw_using_subcommand logs; and __fish_seen_subcommand_from help" -f -a "stats" -d 'Totals per provider, model, session, virtual key, team or customer: requests, errors, tokens, cost, latency'
complete -c bgw -n "__fish_bgw_using_subcommand logs; and __fish_seen_subcommand_from help" -f -a "settings" -d 'Show or change what the request log keeps and for how long'
complete -c bgw -n "__fish_bgw_using_subcommand logs; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bgw -n "__fish_bgw_using_subcommand self-update" -l data-dir -d 'Where bgw keeps its state (one redb file) [default: the platform data directory]' -r -F
complete -c bgw -n "__fish_bgw_using_subcommand self-update" -l check -d 'Only say whether a newer release exists; change nothing'
complete -c bgw -n "__fish_bgw_using_subcommand self-update" -s h -l help -d 'Print help'
complete -c bgw -n "__fish_bgw_using_subcommand self-update" -s V -l version -d 'Print version'
complete -c bgw -n "__fish_bgw_using_subcommand completions" -l data-dir -d 'Where bgw keeps its state (one redb file) [default: the platform data directory]' -r -F
complete -c bgw -n "__fish_bgw_using_subcommand completions" -s h -l help -d 'Print help'
complete -c bgw -n "__fish_bgw_using_subcommand completions" -s V -l version -d 'Print version'
complete -c bgw -n "__fish_bgw_using_subcommand store-owner" -l data-dir -d 'Where bgw keeps its state (one redb file) [default: the platform data directory]' -r -F
complete -c bgw -n "__fish_bgw_using_subcommand store-owner" -s h -l help -d 'Print help'
complete -c bgw -n "__fish_bgw_using_subcommand store-owner" -s V -l version -d 'Print version'
complete -c bgw -n "__fish_bgw_using_subcommand help; and not __fish_seen_subcommand_from run serve keys models route budget logs self-update completions store-owner help" -f -a "run" -d 'Start a gateway and launch Claude Code through it; exits when Claude Code does'
complete -c bgw -n "__fish_bgw_using_subcommand help; and not __fish_seen_subcommand_from run serve keys models route budget logs self-update completions store-owner help" -f -a "serve" -d 'Run the gateway for any Anthropic Messages client'
complete -c bgw -n "__fish_bgw_using_subcommand help; and not __fish_seen_subcommand_from run serve keys models route budget logs self-update completions store-owner help" -f -a "keys" -d 'Add, list and remove provider keys'
complete -c bgw -n "__fish_bgw_using_subcommand help; and not __fish_seen_subcommand_from run serve keys models route budget logs self-update completions store-owner help" -f -a "models" -d 'List the models each configured provider offers'
complete -c bgw -n "__fish_bgw_using_subcommand help; and not __fish_seen_subcommand_from run serve keys models route budget logs self-update completions store-owner help" -f -a "route" -d 'Routing rules: where requests go by a CEL condition, weighted splits, fallbacks'
complete -c bgw -n "__fish_bgw_using_subcommand help; and not __fish_seen_subcommand_from run serve keys models route budget logs self-update completions store-owner help" -f -a "budget" -d 'Budgets and rate limits per virtual key, team, customer, provider or in all'
complete -c bgw -n "__fish_bgw_using_subcommand help; and not __fish_seen_subcommand_from run serve keys models route budget logs self-update completions store-owner help" -f -a "logs" -d 'Show the request log: every request, its provider, tokens, cost'
complete -c bgw -n "__fish_bgw_using_subcommand help; and not __fish_seen_subcommand_from run serve keys models route budget logs self-update completions store-owner help" -f -a "self-update" -d 'Replace this bgw with the newest release (sha256 checked), if install.sh installed it'
complete -c bgw -n "__fish_bgw_using_subcommand help; and not __fish_seen_subcommand_from run serve keys models route budget logs self-update completions store-owner help" -f -a "completions" -d 'Print the completion script for bash, zsh, fish, powershell or elvish'
complete -c bgw -n "__fish_bgw_using_subcommand help; and not __fish_seen_subcommand_from run serve keys models route budget logs self-update completions store-owner help" -f -a "store-owner" -d 'Hold the store file and serve other bgw processes (started by bgw itself when needed)'
complete -c bgw -n "__fish_bgw_using_subcommand help; and not __fish_seen_subcommand_from run serve keys models route budget logs self-update completions store-owner help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bgw -n "__fish_bgw_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "add" -d 'Add a key for a provider'
complete -c bgw -n "__fish_bgw_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "list" -d 'List keys (never prints a secret)'
complete -c bgw -n "__fish_bgw_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "rm" -d 'Remove a key by name'
complete -c bgw -n "__fish_bgw_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "virtual" -d 'Virtual keys: the keys bgw gives its own callers, each with its models, budget and expiry'
complete -c bgw -n "__fish_bgw_using_subcommand help; and __fish_seen_subcommand_from models" -f -a "price" -d 'Set, remove and list your own prices per model (they win over bgw\'s)'
complete -c bgw -n "__fish_bgw_using_subcommand help; and __fish_seen_subcommand_from route" -f -a "add" -d 'Add a rule: `bgw route add ab-test --when \'tier == "sonnet"\' --to \'openai/gpt-4o=70,groq/llama-3.1-70b-versatile=30\'`'
complete -c bgw -n "__fish_bgw_using_subcommand help; and __fish_seen_subcommand_from route" -f -a "list" -d 'List the rules in the order they are searched'
complete -c bgw -n "__fish_bgw_using_subcommand help; and __fish_seen_subcommand_from route" -f -a "show" -d 'Show one rule'
complete -c bgw -n "__fish_bgw_using_subcommand help; and __fish_seen_subcommand_from route" -f -a "rm" -d 'Remove a rule'
complete -c bgw -n "__fish_bgw_using_subcommand help; and __fish_seen_subcommand_from route" -f -a "disable" -d 'Stop using a rule (it stays stored)'
complete -c bgw -n "__fish_bgw_using_subcommand help; and __fish_seen_subcommand_from route" -f -a "enable" -d 'Use a disabled rule again'
complete -c bgw -n "__fish_bgw_using_subcommand help; and __fish_seen_subcommand_from route" -f -a "test" -d 'Show which rule a request would match, why the rules before it did not, and the targets it would try in order'
complete -c bgw -n "__fish_bgw_using_subcommand help; and __fish_seen_subcommand_from budget" -f -a "set" -d 'Set a budget or rate limit: `bgw budget set team eng 500/month`'
complete -c bgw -n "__fish_bgw_using_subcommand help; and __fish_seen_subcommand_from budget" -f -a "rm" -d 'Remove a scope\'s budget and rate limits: `bgw budget rm team eng`'
complete -c bgw -n "__fish_bgw_using_subcommand help; and __fish_seen_subcommand_from logs" -f -a "show" -d 'One request whole: timings, attempts, the request and the response'
complete -c bgw -n "__fish_bgw_using_subcommand help; and __fish_seen_subcommand_from logs" -f -a "stats" -d 'Totals per provider, model, session, virtual key, team or customer: requests, errors, tokens, cost, latency'
complete -c bgw -n "__fish_bgw_using_subcommand help; and __fish_seen_subcommand_from logs" -f -a "settings" -d 'Show or change what the request log keeps and for how long'
