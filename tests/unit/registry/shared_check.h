/*
 * Registry tests: documents the registry hands out are shared, and a
 * build with assertions stops a caller that changes one (cache.c, scope.c).
 */
#ifndef PORTEN_TESTS_REGISTRY_SHARED_CHECK_H
#define PORTEN_TESTS_REGISTRY_SHARED_CHECK_H

#include <jansson.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

/* In a child: change doc, look it up again with lookup(arg); that must abort. */
static inline void
expect_change_stopped(json_t *doc, void (*lookup)(void *), void *arg)
{
	pid_t pid = fork();
	int status = 0;

	assert_true(pid >= 0);
	if (pid == 0) {
		json_object_set_new(doc, "changed_by_a_caller", json_true());
		lookup(arg);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}

#endif
