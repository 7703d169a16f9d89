from .cli import main

# Guarded: worker processes (thumbnails) may import this module.
if __name__ == "__main__":
    main()
