"""A write that PVE carried out but whose answer never reached the client.

fakepve's flaky_network() drops a request before it is handled, so a dropped create was never made. A
connection can also break after the work was done (a proxy timing out on a slow create, a reset on the way
back): the client then does not know. This is the fault that tells whether a client repeats a create
blindly (a duplicate guest) or reads the cluster again first.
"""


class LostAnswers(object):
    """Mixin of FakePve: lose_answer(method, suffix, times) - do the request, then reset the connection."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # (method, path suffix) -> how many more answers to lose
        self.lost_answers = {}

    def lose_answer(self, method, suffix, times=1):
        """The next `times` requests of `method` whose path ends with `suffix` are carried out, and then the
        connection is reset before the answer is sent."""
        self.lost_answers[(method, suffix)] = times

    async def _answer(self, request, handler, generic, path_node):
        response = await super()._answer(request, handler, generic, path_node)
        for key, left in list(self.lost_answers.items()):
            if request.method == key[0] and request.path.endswith(key[1]) and left > 0:
                if left == 1:
                    del self.lost_answers[key]
                else:
                    self.lost_answers[key] = left - 1
                request.transport.close()
                raise ConnectionResetError('fakecluster: the answer was lost after the request was carried out')
        return response
