/*
 * peak-rss - run a command and print the peak resident set size, in KB, of its whole
 * process tree: ru_maxrss of wait4(2), the largest of the command's own peak and that of
 * every descendant it waited for.
 *
 * /usr/bin/time -v reports the same field, but its forked child counts with the pages of
 * time itself and its shared libraries until the exec (some 440 KB). Linked statically, this
 * launcher's own pages before the exec are about 130 KB, which is then the floor.
 *
 * Usage: peak-rss COMMAND [ARG...]   (prints the figure on stderr; exits with the command's
 * status, 125 when it could not be waited for)
 */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs("usage: peak-rss COMMAND [ARG...]\n", stderr);
		return 2;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("peak-rss: fork");
		return 125;
	}
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		perror("peak-rss: exec");
		_exit(127);
	}
	int status;
	struct rusage usage;
	if (wait4(pid, &status, 0, &usage) != pid) {
		perror("peak-rss: wait4");
		return 125;
	}
	fprintf(stderr, "%ld\n", usage.ru_maxrss);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
