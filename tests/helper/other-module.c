/*
 * other-module.c - a collie-cli.so of another version, for init.bats: the
 * collie executable must refuse to run a module that is not its own.
 */
const char collie_cli_version[] = "0.0.0-another";

int collie_cli_main(int argc, char **argv);

int collie_cli_main(int argc, char **argv)
{
	return 99;
}
